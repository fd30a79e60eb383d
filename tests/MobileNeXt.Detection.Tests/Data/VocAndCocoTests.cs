using MobileNeXt.Detection.Data;
using SkiaSharp;

namespace MobileNeXt.Detection.Tests.Data;

/// <summary>The Pascal VOC and COCO readers on small folders written by the tests.</summary>
public class VocAndCocoTests
{
    private static string Temp() => Directory.CreateTempSubdirectory("mobilenext-det").FullName;

    private static void Jpeg(string path, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        bitmap.Erase(new SKColor(200, 30, 60));
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(path, data.ToArray());
    }

    private static string Voc(string objectXml)
    {
        string root = Temp();
        foreach (var d in new[] { "Annotations", "JPEGImages", "ImageSets/Main" }) Directory.CreateDirectory(Path.Combine(root, d));
        File.WriteAllText(Path.Combine(root, "ImageSets/Main/trainval.txt"), "000005\n");
        File.WriteAllText(Path.Combine(root, "Annotations/000005.xml"), $"<annotation><filename>000005.jpg</filename>{objectXml}</annotation>");
        Jpeg(Path.Combine(root, "JPEGImages/000005.jpg"), 50, 40);
        return root;
    }

    [Fact]
    public void Should_read_voc_objects_with_zero_based_corners_and_difficult_flags()
    {
        string root = Voc("""
            <object><name>dog</name><difficult>0</difficult><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
            <object><name>person</name><difficult>1</difficult><bndbox><xmin>11</xmin><ymin>5</ymin><xmax>20</xmax><ymax>9</ymax></bndbox></object>
            """);
        var set = new VocDataset(root);
        set.Count.Should().Be(1);
        set.Id(0).Should().Be("000005");
        set.GetObjects(0).Should().Equal(new ObjectBox(11, 0, 1, 29, 39), new ObjectBox(14, 10, 4, 19, 8, Difficult: true)); // dog = 11, person = 14 in VOC's order
        using var image = set.LoadImage(0);
        (image.Width, image.Height).Should().Be((50, 40));
    }

    [Fact]
    public void Should_name_what_is_wrong_with_a_voc_folder()
    {
        var missing = () => new VocDataset(Path.Combine(Temp(), "nope"));
        missing.Should().Throw<DirectoryNotFoundException>().WithMessage("The VOC folder '*nope' does not exist.");
        var notVoc = () => new VocDataset(Temp());
        notVoc.Should().Throw<DirectoryNotFoundException>().WithMessage("*is not a Pascal VOC folder*ImageSets*Main*trainval.txt' is missing*");
        var unknown = () => new VocDataset(Voc("<object><name>unicorn</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>"));
        unknown.Should().Throw<InvalidDataException>().WithMessage("The annotation '*000005.xml' cannot be read: the class 'unicorn' is not one of the dataset's 20 classes.");
        var broken = () => new VocDataset(Voc("<object><name>dog</name></object>"));
        broken.Should().Throw<InvalidDataException>().WithMessage("*the 'dog' object has no <bndbox>*");
    }

    [Fact]
    public void Should_read_coco_instances_renumbering_categories_and_marking_crowds()
    {
        string root = Temp();
        Jpeg(Path.Combine(root, "a.jpg"), 64, 48);
        Jpeg(Path.Combine(root, "b.jpg"), 32, 32);
        string json = Path.Combine(root, "instances.json");
        File.WriteAllText(json, """
            {"images": [{"id": 7, "file_name": "a.jpg"}, {"id": 9, "file_name": "b.jpg"}],
             "categories": [{"id": 3, "name": "cat"}, {"id": 1, "name": "person"}],
             "annotations": [{"image_id": 9, "category_id": 3, "bbox": [2, 4, 10, 6], "iscrowd": 0},
                             {"image_id": 7, "category_id": 1, "bbox": [0, 0, 64, 20], "iscrowd": 1}]}
            """);
        var set = new CocoDataset(json);
        set.Classes.Should().Equal("person", "cat"); // by category id
        set.GetObjects(0).Should().Equal(new ObjectBox(0, 0, 0, 64, 20, Difficult: true));
        set.GetObjects(1).Should().Equal(new ObjectBox(1, 2, 4, 12, 10));
        using var image = set.LoadImage(1);
        image.Width.Should().Be(32);
    }

    [Fact]
    public void Should_name_what_is_wrong_with_a_coco_file()
    {
        string root = Temp();
        string json = Path.Combine(root, "bad.json");
        File.WriteAllText(json, """{"images": [], "categories": []}""");
        var act = () => new CocoDataset(json);
        act.Should().Throw<InvalidDataException>().WithMessage("'*bad.json' is not a COCO instances file: it has no \"annotations\" array.");
        File.WriteAllText(json, """{"images": [{"id": 1, "file_name": "x.jpg"}], "categories": [{"id": 1, "name": "a"}], "annotations": [{"image_id": 2, "category_id": 1, "bbox": [0,0,1,1]}]}""");
        act.Should().Throw<InvalidDataException>().WithMessage("*refers to image id 2*");
        var missing = () => new CocoDataset(Path.Combine(root, "none.json"));
        missing.Should().Throw<FileNotFoundException>();
    }
}
